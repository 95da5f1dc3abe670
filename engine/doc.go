// Package engine is wirelab's Go core: TCP connections and listeners, UDP
// sockets, commands, hashing, file transfer, channels and shared
// dictionaries. Every blocking call takes a context.Context and returns
// within moments of its cancellation. It knows nothing of Lua.
package engine
