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
print("ok")
