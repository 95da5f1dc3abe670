-- Runs before each file of the Lua 5.1 test suite (lua51suite_test.go),
-- standing in for what the suite's driver, all.lua, sets up. The test
-- replaces assert before this runs.

-- _soft, the suite's own switch for its lighter variant (shorter loops,
-- fewer of the slowest cases), is set by the test under -short.

-- all.lua seeds the generator and tunes the collector first.
math.randomseed(0)
collectgarbage("setstepmul", 180)
collectgarbage("setpause", 190)

-- Modules are looked up in the suite's directory, as the README asks.
package.path = "?;./?.lua"

-- all.lua's Message collects notes about skipped parts; print them.
function Message(m) print(m) end
