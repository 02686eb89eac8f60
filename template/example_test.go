package template_test

import (
	"fmt"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/template"
)

func ExampleCompile() {
	t, err := template.Compile(`{{ type }} to {{ recipient }}: {{ response.code }} {{ meta | tojson }}`, "Bounce")
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := &message.LogRecord{
		Type:      message.Bounce,
		Recipient: message.Recipients{"user@example.org"},
		Response:  message.Response{Code: 550},
	}
	body, err := t.Render(rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))

	_, err = template.Compile("{{ type | shout }}", "Bounce")
	fmt.Println(err)
	// Output:
	// Bounce to user@example.org: 550 {}
	// compiling template:
	// {{ type | shout }}
	// for log record type Bounce: unknown filter: filter shout is unknown (in template 'Bounce' line 1: '{{ type | shout }}')
}
