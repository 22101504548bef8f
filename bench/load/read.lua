-- wrk script for reads: one path, an API key, and at most N responses per thread.
-- Arguments (after --): API key (or "-" for none), maximum responses per thread.
-- done() prints one JSON line that bench/load/run.py reads.

-- Counters are globals: done() reads them from each thread with thread:get().
local threads = {}
max_responses = 0
responses = 0
unexpected = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[1] ~= "-" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
  max_responses = tonumber(args[2])
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    unexpected = unexpected + 1
  end
  if responses >= max_responses then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"socket_errors": %d, "timeouts": %d, "unexpected_status": %d, "retries_412": 0}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write, errors.timeout, unexpected_total
  ))
end
