-- wrk script of bench/server.py: posts every request of a requests file in turn and counts the
-- answers that are not a search result; prints the run's figures as one JSON line at the end.
--
-- The requests file (written by bench/server.py) holds HTTP header lines ("Name: value"), an
-- empty line, then one request body per line. Each wrk thread cycles through all the bodies,
-- starting at its own offset (the script's second argument is the number of wrk threads). An answer counts as failed when its status is not 200 or its body
-- carries "isError": true or a JSON-RPC error object.
--
-- Example:
--     wrk -t 1 -c 8 -d 10s --timeout 60s -s bench/wrk_search.lua \
--         http://127.0.0.1:8791/mcp -- requests.txt 1

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local headers, bodies, in_headers = {}, {}, true
   for line in io.lines(args[1]) do
      if in_headers then
         if line == "" then
            in_headers = false
         else
            local name, value = line:match("^([^:]+):%s*(.*)$")
            headers[name] = value
         end
      elseif line ~= "" then
         table.insert(bodies, line)
      end
   end
   requests = {}
   for index, body in ipairs(bodies) do
      requests[index] = wrk.format("POST", nil, headers, body)
   end
   -- threads are numbered from 0 in setup(); args[2] is how many there are
   next_index = math.floor(id * #requests / tonumber(args[2] or 1))
   failed = 0
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function response(status, headers, body)
   if status ~= 200 or body:find('"isError"%s*:%s*true')
         or body:find('"error"%s*:%s*{%s*"code"%s*:') then
      failed = failed + 1
   end
end

function done(summary, latency, requests_stats)
   local failed_total = 0
   for _, thread in ipairs(threads) do
      failed_total = failed_total + thread:get("failed")
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, "failed": %d, '
      .. '"socket_errors": %d}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, failed_total,
      errors.connect + errors.read + errors.write + errors.timeout))
end
