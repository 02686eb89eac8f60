//go:build !linux

package luahttp

func platformHostileCases() []hostileCase { return nil }
