-- exec.spawn: a local program driven like a connection (pwntools' process).
local dir = arg[1]

-- a line-oriented program: prompt, answer, exit code
local p = assert(exec.spawn({"sh", "-c", 'printf "name? "; read n; echo "hi $n"; echo oops >&2; exit 4'}, {stderr = "pipe"}))
assert(tostring(p):find("^<process %d+ running>$"), tostring(p))
assert(type(p:pid()) == "number" and p:pid() > 0)
assert(p:sendlineafter("name? ", "wire") == "name? ")
assert(p:recvline() == "hi wire")
local code, sig = p:wait(5)
assert(code == 4 and sig == nil, tostring(code))
local err, dropped = p:stderr()
assert(err == "oops\n" and dropped == 0, err)
assert(p:stderr() == "", "stderr is taken once")
assert(tostring(p):find("exited 4"), tostring(p))
-- the end of its output reads as a connection's end
local r, re = p:recv(10)
assert(r == nil and re == "closed", re)

-- merged stderr (the default) and a shell string
local m = assert(exec.spawn("echo out; echo err >&2"))
assert(m:recv_all() == "out\nerr\n")
assert(m:wait() == 0)

-- cat: stdin to stdout, timeouts that lose nothing, close_stdin
local cat = assert(exec.spawn("cat"))
cat:send("par")
local l, le, lp = cat:recvline({timeout = 0.1})
assert(l == nil and le == "timeout", le)
cat:sendline("tial")
assert(cat:recvline() == "partial")
cat:send_frame("framed")
assert(cat:recv_frame() == "framed")
cat:unrecv("back ")
cat:sendline("again")
assert(cat:recvline() == "back again")
cat:close_stdin()
assert(cat:recv_all() == "")
assert(cat:wait() == 0)
local sent, se = cat:send("late")
assert(sent == nil and se == "closed", se)

-- wait with a timeout, and 0 to only look; kill by name
local s = assert(exec.spawn({"sleep", "30"}))
local w, we = s:wait(0)
assert(w == nil and we == "timeout", we)
w, we = s:wait(0.05)
assert(w == nil and we == "timeout", we)
assert(s:kill("TERM"))
local sc, ss = s:wait()
assert(sc == -1 and ss == "terminated", tostring(ss))
assert(s:kill(), "kill after exit does nothing")

-- killing kills the whole group: a background child goes too
local g = assert(exec.spawn("sleep 30 & echo $!; wait"))
local child = tonumber(g:recvline())
g:kill()
assert(select(2, g:wait()) == "killed")
-- alive: running, and not a zombie waiting for whoever adopted it
local function alive(pid)
  local st = exec.run({"ps", "-o", "stat=", "-p", tostring(pid)}).stdout
  return st:match("%S") ~= nil and not st:find("Z")
end
local deadline = task.now() + 5
while alive(child) and task.now() < deadline do task.sleep(0.01) end
assert(not alive(child), "the background child outlived its group")

-- a process spawned by a task dies with the task
local t = task.spawn(function()
  local q = assert(exec.spawn("sleep 30 & echo $!; wait"))
  return q:pid(), tonumber(q:recvline())
end)
local ok, tpid, tchild = t:wait()
assert(ok, tpid)
deadline = task.now() + 5
while (alive(tpid) or alive(tchild)) and task.now() < deadline do task.sleep(0.01) end
assert(not alive(tpid) and not alive(tchild), "a task's process outlived the task")

-- processes pass to other tasks by reference, as connections do
local echo = assert(exec.spawn("cat"))
local helper = task.spawn(function(pr) pr:sendline("from a task") return pr:recvline() end, echo)
local hok, line = helper:wait()
assert(hok and line == "from a task", line)
echo:close()
assert(echo:closed())

-- cwd and env, as exec.run takes them
local e = assert(exec.spawn({"sh", "-c", "pwd; echo $WL_X"}, {cwd = dir, env = {WL_X = "x1"}}))
local out = e:recv_all()
assert(out:find("x1", 1, true) and out:find(dir:match("[^/]+$"), 1, true), out)

-- pty = true: stdin and stdout are a raw terminal: nothing echoed, "\r"
-- and "\n" untranslated, stderr merged into it; a background child dies
-- with the program
local t = assert(exec.spawn("test -t 0 && test -t 1 && echo tty; sleep 30 & echo $!; exec cat", {pty = true}))
assert(t:recvline() == "tty")
local tchild2 = tonumber(t:recvline())
t:send("a\r\nb\n")
assert(t:recv_exact(5) == "a\r\nb\n")
t:sendline("c")
assert(t:recvline() == "c")
-- close_stdin hangs the terminal up: the program gets SIGHUP
t:close_stdin()
assert(select(2, t:wait()) == "hangup")
local ts, tse = t:sendline("late")
assert(ts == nil and tse == "closed", tse)
deadline = task.now() + 5
while alive(tchild2) and task.now() < deadline do task.sleep(0.01) end
assert(not alive(tchild2), "a pty program's background child outlived it")
-- stderr = "pipe" keeps standard error off the terminal
local tp = assert(exec.spawn("test -t 2 || echo pipe >&2; echo out", {pty = true, stderr = "pipe"}))
assert(tp:recv_all() == "out\n")
assert(tp:wait() == 0 and tp:stderr() == "pipe\n")

-- a program that cannot start, bad options
local np, ne = exec.spawn({"/nonexistent/program"})
assert(np == nil and type(ne) == "string", ne)
local bok, bmsg = pcall(exec.spawn, "true", {stderr = "both"})
assert(not bok and bmsg:find('option stderr must be "merge" or "pipe"', 1, true), bmsg)
bok, bmsg = pcall(exec.spawn, "true", {pty = "yes"})
assert(not bok and bmsg:find("option pty: boolean expected, got string", 1, true), bmsg)
bok, bmsg = pcall(exec.spawn, "true", {cdw = "/"})
assert(not bok and bmsg:find("unknown option 'cdw'; did you mean 'cwd'?", 1, true), bmsg)
bok, bmsg = pcall(function() return e:peer() end)
assert(not bok and bmsg:find("process has no method 'peer'", 1, true), bmsg)
bok, bmsg = pcall(function() return e:kill("TREM") end)
assert(not bok and bmsg:find("did you mean TERM?", 1, true), bmsg)
print("ok")
