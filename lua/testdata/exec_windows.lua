-- exec on Windows: strings run by cmd.exe, argv tables directly, the whole
-- tree ended by the job object, output read to the end, GBK decoded.
-- (TestScripts runs it on Windows only; exec.lua and process.lua are the
-- same on /bin/sh.)
local dir = arg[1]
local r = assert(exec.run("echo out& echo err>&2& exit /b 3"))
assert(r.stdout == "out\r\n" and r.stderr == "err\r\n" and r.code == 3 and not r.timed_out, r.stdout)

-- argv: the program itself, no shell
local a = assert(exec.run({"cmd.exe", "/c", "exit", "5"}))
assert(a.code == 5 and a.stdout == "", a.stderr)

-- stdin, cwd, env
local s = assert(exec.run("set /p l=& call echo got %l%& cd& echo %WIRE%", {stdin = "fed\r\n", cwd = dir, env = {WIRE = "lab"}}))
assert(s.stdout == "got fed\r\n" .. dir .. "\r\nlab\r\n", s.stdout)

-- output written just before the exit arrives whole
local big = dir .. "\\big.txt"
local f = assert(io.open(big, "wb"))
f:write(string.rep("0123456789abcdef", 20000))
f:close()
local t = assert(exec.run('type "' .. big .. '"', {max_output = 1000000}))
assert(#t.stdout == 320000 and not t.truncated and t.code == 0, #t.stdout)
local cut = assert(exec.run('type "' .. big .. '"', {max_output = 1000}))
assert(#cut.stdout == 1000 and cut.truncated, #cut.stdout)

-- a runaway command is killed with the child it started (start /b):
-- the child would hold the output open, and held would be set
local k = assert(exec.run("start /b ping -n 30 127.0.0.1& ping -n 30 127.0.0.1", {timeout = 0.5}))
assert(k.timed_out and k.code == -1 and k.signal == "killed" and not k.held, tostring(k.signal))

-- cancelling its task ends it
local tk = task.spawn(function() return exec.run("ping -n 30 127.0.0.1") end)
task.sleep(0.3)
tk:cancel()
local ok, tr, te = tk:wait(5)
assert((ok == false and tr == "interrupted") or (ok and tr == nil and te == "interrupted"), tostring(tr))

-- the documents' scenario: a command's output in the console code page
-- (GBK, 936) decoded; "中文" is d6 d0 ce c4 in GBK
local gbk = dir .. "\\gbk.txt"
f = assert(io.open(gbk, "wb"))
f:write("\214\208\206\196\r\n")
f:close()
local g = assert(exec.run('type "' .. gbk .. '"'))
assert(g.stdout == "\214\208\206\196\r\n", g.stdout)
assert(text.decode(g.stdout, "gbk") == "中文\r\n")
assert(type(text.console_encoding()) == "string")

-- spawn: a conversation with cmd.exe, a timeout that loses nothing
local p = assert(exec.spawn("echo ready& set /p n=& call echo hi %n%& exit /b 4", {stderr = "pipe"}))
assert(p:recvline() == "ready")
local l, le = p:recvline({timeout = 0.1})
assert(l == nil and le == "timeout", le)
p:send("wire\r\n") -- set /p reads a Windows line
assert(p:recv_all() == "hi wire\r\n")
local code, sig = p:wait(5)
assert(code == 4 and sig == nil, tostring(code))

-- kill ends the process and its children; signals Windows has not fail
local q = assert(exec.spawn("start /b ping -n 30 127.0.0.1& ping -n 30 127.0.0.1"))
local kok, kerr = q:kill("TERM")
assert(kok, kerr)
code, sig = q:wait(5)
assert(code == -1 and sig == "killed", tostring(sig))
assert(not pcall(q.kill, q, "USR1"), "USR1 is no signal on Windows")
print("ok")
