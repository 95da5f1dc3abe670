-- exec: commands through the shell or an argv, bounded and killable.
local dir = arg[1]
local r = assert(exec.run("echo out; echo err >&2; exit 3"))
assert(r.stdout == "out\n" and r.stderr == "err\n" and r.code == 3 and not r.timed_out and not r.truncated)

-- argv: no shell, so metacharacters are just bytes
local a = assert(exec.run({"printf", "%s|", "a b", "$HOME", ";ls"}))
assert(a.stdout == "a b|$HOME|;ls|", a.stdout)

-- stdin, cwd, env
local s = assert(exec.run("cat; pwd; echo $WIRE", {stdin = "fed\n", cwd = dir, env = {WIRE = "lab"}}))
assert(s.stdout == "fed\n" .. dir .. "\nlab\n", s.stdout)

-- a lot on stderr while stdout is quiet does not deadlock
local big = assert(exec.run("head -c 300000 /dev/zero >&2; echo done"))
assert(#big.stderr == 300000 and big.stdout == "done\n")

-- output over the cap is cut and flagged, and the command still finishes
local cut = assert(exec.run("head -c 100000 /dev/zero; echo tail >&2", {max_output = 1000}))
assert(#cut.stdout == 1000 and cut.truncated and cut.stderr == "tail\n" and cut.code == 0)

-- a runaway command is killed with its children
local pidfile = dir .. "/child.pid"
local t0 = os.time()
local k = assert(exec.run("sleep 30 & echo $! > " .. pidfile .. "; sleep 30", {timeout = 0.2}))
assert(k.timed_out and k.code == -1 and k.signal == "killed", tostring(k.signal))
local child = io.open(pidfile):read("*l")
task.sleep(0.1)
-- gone, or a zombie where PID 1 does not reap orphans (containers)
local stat = io.open("/proc/" .. child .. "/stat")
local state = stat and stat:read("*a"):match("^%d+ %b() (%a)")
assert(state == nil or state == "Z", "the background child " .. child .. " outlived the timeout: " .. tostring(state))

-- a command that does not exist: the shell says so
local nx = assert(exec.run("definitely-not-a-command-wirelab"))
assert(nx.code == 127)
local nv, ne = exec.run({"/definitely/not/here"})
assert(nv == nil and ne:find("no such file"), ne)

-- interrupted by cancelling its task
local tk = task.spawn(function() return exec.run("sleep 30") end)
task.sleep(0.1)
tk:cancel()
-- a tail call returns exec.run's own nil, "interrupted"; code after the
-- call would stop with the error "interrupted" instead
local ok, r, e = tk:wait(2)
assert((ok == false and r == "interrupted") or (ok and r == nil and e == "interrupted"), tostring(r))

assert(not pcall(exec.run, {}))
assert(not pcall(exec.run, 42))
-- spool: the output stays in Go, in memory or on disk past the threshold,
-- and goes out through send, send_frame and send_msg as it is
local big = assert(exec.run("head -c 300000 /dev/zero; printf tail; printf err >&2", {spool = 1000}))
assert(big.stdout:size() == 300004 and big.stderr:size() == 3)
assert(tostring(big.stdout) == "<blob 300004 bytes on disk>", tostring(big.stdout))
assert(tostring(big.stderr) == "<blob 3 bytes in memory>", tostring(big.stderr))
assert(big.stderr:string() == "err" and big.stdout:string():sub(-4) == "tail")
local ln = assert(socket.listen("127.0.0.1", 0))
local peer = task.spawn(function()
  local c = assert(ln:accept())
  local frame = assert(c:recv_frame())
  local h, body = assert(c:recv_msg())
  local raw = assert(c:recv_exact(300004 + 3))
  return #frame, frame:sub(-7), h.total_size, body:sub(-3), raw:sub(-3)
end)
local c = assert(socket.connect("127.0.0.1", ln:port()))
assert(c:send_frame({big.stdout, big.stderr}) == 300007)
assert(c:send_msg({code = 0}, {big.stdout, "+", big.stderr}) == 300008)
assert(c:send(big.stdout) == 300004 and c:send({big.stderr}) == 3)
local ok, n, tail, total, btail, rtail = peer:wait()
assert(ok and n == 300007 and tail == "tailerr" and total == 300008 and btail == "err" and rtail == "err", tostring(n))
big.stdout:close(); big.stderr:close()
assert(select(2, big.stdout:string()) ~= nil and select(2, big.stderr:string()) ~= nil, "a closed blob has nothing to give")
assert(not pcall(c.send, c, {1, 2}), "only strings and blobs are sent")
c:close()

-- a limiter: at most n commands at once, the rest in line; it passes to
-- tasks by reference, so every task waits in the same line
assert(exec.default_max_running >= 1 and exec.default_max_running % 1 == 0)
assert(exec.limiter():max() == exec.default_max_running)
local slots = exec.limiter(2)
assert(slots:max() == 2 and slots:running() == 0 and slots:waiting() == 0)
local log = dir .. "/slots.log"
local runs = {}
for i = 1, 6 do
  runs[i] = task.spawn(function()
    return exec.run("echo s >> " .. log .. "; sleep 0.1; echo e >> " .. log .. "; echo " .. i, {limiter = slots})
  end)
end
for i = 1, 6 do
  local ok, r = runs[i]:wait(30)
  assert(ok and r and r.stdout == i .. "\n", tostring(r))
end
local running, peak = 0, 0
for line in io.lines(log) do
  running = running + (line == "s" and 1 or -1)
  if running > peak then peak = running end
end
assert(peak >= 1 and peak <= 2, "peak " .. peak .. " commands at once, with a limiter of 2")
assert(slots:running() == 0 and slots:waiting() == 0)
-- waiting in line is interrupted as running is
local one = exec.limiter(1)
local holder = task.spawn(function() return exec.run("sleep 30", {limiter = one}) end)
while one:running() == 0 do task.sleep(0.01) end
local queued = task.spawn(function() return exec.run("echo never", {limiter = one}) end)
while one:waiting() == 0 do task.sleep(0.01) end
assert(tostring(one) == "<limiter 1 of 1 running, 1 waiting>", tostring(one))
queued:cancel()
local ok, r, e = queued:wait(5)
assert((ok == false and r == "interrupted") or (ok and r == nil and e == "interrupted"), tostring(r))
holder:cancel(); holder:wait(5)
assert(one:running() == 0 and one:waiting() == 0)
assert(select(2, pcall(exec.limiter, 0)):find("bad argument #1 to 'limiter'"))
assert(select(2, pcall(exec.run, "true", {limiter = 3})):find("option limiter must be a limiter"))
print("ok")
