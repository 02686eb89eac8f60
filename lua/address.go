package lua

import (
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luatype"
	"github.com/hookd/hookd/message"
)

// addressType's metatable is shared by every state (see luatype).
var addressType = luatype.New("hookd.EnvelopeAddress", func(b *luatype.Builder) {
	mt := b.MT
	mt.RawSetString("__index", b.Func(func(L *glua.LState) int {
		a := checkAddress(L, 1)
		switch L.CheckString(2) {
		case "user":
			L.Push(glua.LString(a.User()))
		case "domain":
			L.Push(glua.LString(a.Domain()))
		case "email":
			L.Push(glua.LString(a.Email()))
		default:
			L.Push(glua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__tostring", b.Func(func(L *glua.LState) int {
		L.Push(glua.LString(checkAddress(L, 1).Email()))
		return 1
	}))
	mt.RawSetString("__eq", b.Func(func(L *glua.LState) int {
		L.Push(glua.LBool(checkAddress(L, 1) == checkAddress(L, 2)))
		return 1
	}))
})

func checkAddress(L *glua.LState, n int) message.Address {
	ud := L.CheckUserData(n)
	a, ok := ud.Value.(message.Address)
	if !ok {
		L.ArgError(n, "EnvelopeAddress expected")
	}
	return a
}

func addressValue(L *glua.LState, a message.Address) glua.LValue {
	return addressType.Wrap(L, a)
}

func addressList(L *glua.LState, as []message.Address) *glua.LTable {
	t := L.CreateTable(len(as), 0)
	for _, a := range as {
		t.Append(addressValue(L, a))
	}
	return t
}

// toAddress accepts an EnvelopeAddress or its text.
func toAddress(v glua.LValue) (message.Address, error) {
	switch v := v.(type) {
	case glua.LString:
		return message.ParseAddress(string(v))
	case *glua.LUserData:
		if a, ok := v.Value.(message.Address); ok {
			return a, nil
		}
	}
	return message.Address{}, fmt.Errorf("expected an address string or EnvelopeAddress, got %s", v.Type())
}
