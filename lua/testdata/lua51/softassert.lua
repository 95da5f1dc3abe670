-- A soft assert in Lua, for running the suite under the reference
-- interpreter (go test ./lua -run TestLua51Suite -v -args -lua51ref, with
-- lua5.1 on the PATH): it does what the test's soft assert does in Go. A
-- failing assert prints "FAIL\tplace\tmessage" to stderr and returns its
-- arguments; under a pcall it raises, as the suite expects of some
-- asserts. At exit the counts follow: "COUNT\tasserts\tpassed".

local file = assert(arg[0])
local getinfo, format, write = debug.getinfo, string.format, io.stderr.write
local stderr, pcall, xpcall, tostring = io.stderr, pcall, xpcall, tostring
local asserts, passed = 0, 0

-- key returns file:line of the innermost call from the file, or
-- file:outer>inner when the outermost call from the file is elsewhere.
local function key(level)
  local inner, outer
  local pcalled = false
  while true do
    local info = getinfo(level, "Slf")
    if not info then break end
    if info.func == pcall or info.func == xpcall then pcalled = true end
    if info.source == "@" .. file and info.currentline > 0 then
      inner = inner or info.currentline
      outer = info.currentline
    end
    level = level + 1
  end
  if not inner then return file .. ":?", pcalled end
  if outer ~= inner then return format("%s:%d>%d", file, outer, inner), pcalled end
  return format("%s:%d", file, inner), pcalled
end

function assert(...)
  asserts = asserts + 1
  local v, msg = ...
  if v then
    passed = passed + 1
    return ...
  end
  msg = msg == nil and "assertion failed!" or tostring(msg)
  local where, pcalled = key(3)
  if pcalled then error(msg, 0) end
  write(stderr, "FAIL\t", where, "\t", (msg:gsub("\n", " ")), "\n")
  return ...
end

-- The counts, written when the state closes.
_SOFTASSERT = newproxy(true)
getmetatable(_SOFTASSERT).__gc = function ()
  write(stderr, format("COUNT\t%d\t%d\n", asserts, passed))
end
