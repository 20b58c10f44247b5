-- wrk script: GET /api/private, each request with the next of many distinct tokens read from
-- $TOKENS_FILE (one per line); every thread starts at its own offset.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  tokens = {}
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    tokens[#tokens + 1] = line
  end
  position = (id * 7919) % #tokens
end

function request()
  position = position % #tokens + 1
  return wrk.format("GET", "/api/private", { ["Authorization"] = "Bearer " .. tokens[position] })
end
