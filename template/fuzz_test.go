package template

import (
	"testing"

	"github.com/hookd/hookd/message"
)

// FuzzCompile checks that compiling any text never panics and that a
// template that compiles renders a sample record without panicking (Render
// itself recovers from gonja's known panics and returns them as errors;
// a panic that escapes it fails this target).
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		goldenTemplate,
		`{{ log_record | tojson }}`,
		`{{ type }} {{ response.code }} {{ headers["X-Tag"][0] }}`,
		`{% for k, v in headers | items %}{{ k ~ "=" ~ v | default("x") }}{% else %}none{% endfor %}`,
		`{% if egress_source is none and size > 10 %}{{ size // 3 }}{% endif %}`,
		`{% set x = {"a": [1, 2.5, none]} %}{{ x | tojson(indent=2) }}{{ range(3) | list }}`,
		`{% macro m(a) %}{{ a | upper }}{% endmacro %}{{ m(sender) }}`,
		`{{ meta.tenant | replace("a", "b") | truncate(5) }}{{ recipient | join(",") }}`,
		`{% filter upper %}{{ queue }}{% endfilter %}{# comment #}{% raw %}{{{% endraw %}`,
		`{{ size % 0 }}`,
		`{{ x | nope }}`,
		"{% if x %}\n{% endfor %}",
	} {
		f.Add(seed)
	}
	rec := sampleRecord(message.Bounce)
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Compile(src, "Bounce")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile error is %T, want *Error", err)
			}
			return
		}
		_, _ = tpl.Render(rec)
	})
}
