-- wrk script: mints development tokens as fast as the service signs them, one distinct `sub`
-- per request, and appends each access_token to $TOKENS_DIR/tokens-<thread>.txt.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  counter = 0
  out = io.open((os.getenv("TOKENS_DIR") or ".") .. "/tokens-" .. id .. ".txt", "a")
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/dev/token", { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "scope=read:messages&sub=flood-" .. id .. "-" .. counter)
end

function response(status, headers, body)
  local token = body:match('"access_token":"([^"]+)"')
  if token then
    out:write(token, "\n")
  end
end
