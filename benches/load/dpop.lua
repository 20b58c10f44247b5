-- wrk script: GET /api/private with a DPoP-bound token and a new proof on every request. Thread N
-- sends the proofs of $PROOFS_DIR/proofs-N.txt (one per line) in order; were they to run out, it
-- would start over, and the replays would show as non-2xx answers.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  proofs = {}
  for line in io.lines(os.getenv("PROOFS_DIR") .. "/proofs-" .. id .. ".txt") do
    proofs[#proofs + 1] = line
  end
  authorization = "DPoP " .. os.getenv("DPOP_TOKEN")
  position = 0
end

function request()
  position = position % #proofs + 1
  return wrk.format("GET", "/api/private", { ["Authorization"] = authorization, ["DPoP"] = proofs[position] })
end
