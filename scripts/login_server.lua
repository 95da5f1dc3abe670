-- Login check: the client sends user|password, the server answers success or fail against an accounts file.
--
-- The documents' protocol, bytes without a header: request "user|pwd"
-- (UTF-8), answer "success" or "fail". The accounts file holds one
-- user:password per line, as in the documents, or hashed entries made by
-- `wirelab passwd FILE USER`. Like the documents' server it reads the file
-- for every request, so accounts added while it runs count at once.
-- Unknown users and wrong passwords get the same answer in about the same
-- time, and a connection is closed after 5 failures. Reconnecting does not
-- help a guesser: every failure adds --penalty seconds to its address's
-- penalty, which runs down in real time, and past 30 s of it the address
-- gets "fail" without a check and is disconnected (sshd's
-- PerSourcePenalties): a burst of 30 guesses, then one a second. Other
-- addresses are not affected. Many addresses do not help either: past a
-- burst of --ceiling failures, at most --ceiling checks a second are made
-- in all, and --netblock counts a whole /24 (or /64) as one address.
local M = {}

M.defaults = {host = "127.0.0.1", port = 8899, accounts = "account.txt", max_failures = 5, penalty = 1,
  ceiling = 100, netblock = "32:128"}
M.help = {
  host = "address to listen on",
  port = "port to listen on (0: any free port)",
  accounts = "accounts file: user:password lines, or hashes from wirelab passwd",
  max_failures = "failed attempts before the connection is closed",
  penalty = "seconds each failure adds to its address's penalty; past 30 s the address is refused (0: off, ceiling too)",
  ceiling = "failed logins a second across all addresses; past a burst of as many, every check waits its turn (0: none)",
  netblock = "prefix lengths that count as one address, IPv4:IPv6 (sshd's PerSourceNetBlockSize; 24:64 groups a /24 and a /64)",
}

-- parse splits a request into user and password, as the documents' strip() and split("|").
function M.parse(data)
  if not text.valid(data) then return nil end
  data = data:match("^%s*(.-)%s*$")
  local user, password = data:match("^([^|]*)|(.*)$")
  if not user or user == "" then return nil end
  return user, password
end

-- check reads the accounts file and checks one login against it.
function M.check(o, user, password)
  local accounts, err = hash.accounts(o.accounts)
  if not accounts then
    io.stderr:write("cannot read accounts file ", o.accounts, ": ", err, "\n")
    return false
  end
  return accounts:check(user, password)
end

function M.serve(o)
  local penalty = o.penalty or M.defaults.penalty
  local box = penalty > 0 and task.penalties("login_server", {per = penalty,
    ceiling = o.ceiling or M.defaults.ceiling, netblock = o.netblock or M.defaults.netblock})
  return socket.serve(o.host, o.port, function(conn)
    local source = conn:peer()
    local failures = 0
    while failures < (o.max_failures or M.defaults.max_failures) do
      local data = conn:recv(1024)
      if not data then return end
      if box and box:blocked(source) then
        box:fail(source) -- knocking while blocked lengthens the block
        conn:send("fail")
        return
      end
      -- many addresses at once: past the ceiling, each check waits its turn
      if box and not box:wait() then return end
      local user, password = M.parse(data)
      if user and M.check(o, user, password) then
        conn:send("success")
      else
        failures = failures + 1
        if box then
          box:fail(source)
          local blocked = box:blocked(source)
          if blocked and blocked <= penalty then
            io.stderr:write("login_server: ", source, " blocked after repeated failures\n")
          end
        end
        conn:send("fail")
      end
    end
  end)
end

if ... == "login_server" then return M end -- loaded with require

local o = flags.parse(arg, M.defaults, {help = M.help})
local accounts, err = hash.accounts(o.accounts)
if not accounts then
  io.stderr:write("cannot read accounts file ", o.accounts, ": ", err, "\n")
  os.exit(1)
end
if accounts:plaintext() > 0 then
  io.stderr:write(string.format("warning: %s holds %d plaintext password(s); store hashes with: wirelab passwd %s USER\n",
    o.accounts, accounts:plaintext(), o.accounts))
end
local srv = assert(M.serve(o))
print("listening on " .. o.host .. ":" .. srv:port())
