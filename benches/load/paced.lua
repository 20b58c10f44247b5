-- wrk script: GET /api/private with a bearer token ($BEARER_TOKEN), each connection waiting
-- $PACE_MS between requests, so the request rate matches a slower run's (the DPoP run) and the
-- load generator sleeps between answers as it does there.
function init(args)
  pause = tonumber(os.getenv("PACE_MS"))
  authorization = "Bearer " .. os.getenv("BEARER_TOKEN")
end

function delay()
  return pause
end

function request()
  return wrk.format("GET", "/api/private", { ["Authorization"] = authorization })
end
