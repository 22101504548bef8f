-- wrk script for answer writes. Run with as many threads as connections (-t N -c N): each
-- thread then owns one connection and one draft assessment, and tracks its ETag. Every write
-- changes the answer (PUT .../answers/P3 with If-Match); a 412 answer carries the current ETag,
-- which the next write uses: it is counted as a retry, not an error.
-- Arguments (after --): API key, maximum responses per thread, comma-separated assessment
-- ids, comma-separated ETags in the same order, and optionally the path before the id
-- (default /api/v1/assessments/). done() prints one JSON line for run.py.

-- Counters are globals: done() reads them from each thread with thread:get().
local threads = {}
max_responses = 0
responses = 0
writes = 0
retries = 0
unexpected = 0
local path, etag, key

local function split(text)
  local parts = {}
  for part in string.gmatch(text, "[^,]+") do
    table.insert(parts, part)
  end
  return parts
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end

function init(args)
  key = args[1]
  max_responses = tonumber(args[2])
  local ids, etags = split(args[3]), split(args[4])
  path = (args[5] or "/api/v1/assessments/") .. ids[index] .. "/answers/P3"
  etag = etags[index]
end

function request()
  local body = string.format('{"type": "text", "value": "load test %d-%d"}', index, writes)
  return wrk.format("PUT", path, {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["If-Match"] = etag,
  }, body)
end

function response(status, headers, body)
  responses = responses + 1
  if status == 200 then
    writes = writes + 1
    etag = headers["etag"] or headers["ETag"]
  elseif status == 412 then
    retries = retries + 1
    etag = headers["etag"] or headers["ETag"]
  else
    unexpected = unexpected + 1
  end
  if responses >= max_responses then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local unexpected_total, retries_total = 0, 0
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
    retries_total = retries_total + thread:get("retries")
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"socket_errors": %d, "timeouts": %d, "unexpected_status": %d, "retries_412": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write, errors.timeout, unexpected_total, retries_total
  ))
end
