-- wrk script: PUT a ballot for a different unit on each request.
-- The targets file has one "path token" line per unit; each wrk thread walks the list
-- from its own offset, and the choice alternates so that most requests replace a ballot.
local targets = {}
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local path, token = line:match("^(%S+)%s+(%S+)$")
    targets[#targets + 1] = { path = path, token = token }
  end
  thread_id = tonumber(id) or 0
end

function request()
  counter = counter + 1
  local target = targets[((thread_id * 7919 + counter) % #targets) + 1]
  local choice = (counter % 2 == 0) and "yes" or "no"
  return wrk.format("PUT", target.path, {
    ["Authorization"] = "Token " .. target.token,
    ["Content-Type"] = "application/json",
  }, '{"choice":"' .. choice .. '"}')
end
