-- wrk script for Laurel's benchmarks. One file, five modes (BENCH_MODE):
--   ingest       POST /api/v1/programs/{id}/events, one PURCHASE per request
--   bare_ingest  POST /bench/events, the same body (baseline)
--   bulk         POST /api/v1/programs/{id}/events/bulk, BENCH_BULK_SIZE events per request
--   read         GET  /api/v1/programs/{id}/customers/{integrationId}/achievements?limit=1000
--   bare_read    GET  /bench/programs/{id}/customers/{integrationId} (baseline)
-- Environment: BENCH_PROGRAM, BENCH_KEY (API key), BENCH_CUSTOMERS (integration ids are
-- c00000 .. c{N-1}), BENCH_SEED (math.random seed), BENCH_RUN (makes references unique per
-- run), BENCH_BULK_SIZE.
-- Each thread seeds math.random with BENCH_SEED + its number, picks a random customer per
-- request and numbers its external references, so every event is new. At the end one line
-- "BENCH_JSON {...}" carries the figures (latencies in microseconds).

local mode = os.getenv("BENCH_MODE") or "ingest"
local program = os.getenv("BENCH_PROGRAM") or "1"
local key = os.getenv("BENCH_KEY") or ""
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "10000")
local seed = tonumber(os.getenv("BENCH_SEED") or "42")
local run = os.getenv("BENCH_RUN") or "run"
local bulk_size = tonumber(os.getenv("BENCH_BULK_SIZE") or "500")

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("tid", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local products = {"COFFEE", "TEA", "CAKE", "SANDWICH", "JUICE"}
local counter = 0
non2xx = 0
items = 0
items_ok = 0

function init(args)
   math.randomseed(seed + 7919 * tid)
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json"
   if key ~= "" and mode ~= "bare_ingest" and mode ~= "bare_read" then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
end

local function customer()
   return string.format("c%05d", math.random(0, customers - 1))
end

local function event_json(now)
   counter = counter + 1
   local amount = math.random(100, 6000) / 100
   return string.format(
      '{"customer":"%s","type":"PURCHASE","product":"%s","amount":%.2f,' ..
      '"performedOn":"%s","externalSystem":"BENCH","externalSystemReferenceNumber":"%s-%d-%d"}',
      customer(), products[math.random(1, #products)], amount, now, run, tid, counter)
end

function request()
   local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
   if mode == "ingest" then
      return wrk.format("POST", "/api/v1/programs/" .. program .. "/events", nil, event_json(now))
   elseif mode == "bare_ingest" then
      return wrk.format("POST", "/bench/events", nil, event_json(now))
   elseif mode == "bulk" then
      local parts = {}
      for i = 1, bulk_size do
         parts[i] = event_json(now)
      end
      local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
      return wrk.format("POST", "/api/v1/programs/" .. program .. "/events/bulk", nil, body)
   elseif mode == "read" then
      return wrk.format("GET", "/api/v1/programs/" .. program .. "/customers/" .. customer() ..
                        "/achievements?limit=1000")
   else -- bare_read
      return wrk.format("GET", "/bench/programs/" .. program .. "/customers/" .. customer())
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   if mode == "bulk" and body then
      local _, ok = string.gsub(body, '"status":201', "")
      local _, all = string.gsub(body, '"index":', "")
      items_ok = items_ok + ok
      items = items + all
   end
end

function done(summary, latency, requests)
   local bad, n_items, n_ok = 0, 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      n_items = n_items + (thread:get("items") or 0)
      n_ok = n_ok + (thread:get("items_ok") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"mode":"%s","requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,' ..
      '"timeouts":%d,"latency_mean_us":%.1f,"latency_max_us":%d,"p50_us":%d,"p90_us":%d,' ..
      '"p99_us":%d,"bulk_items":%d,"bulk_items_created":%d}\n',
      mode, summary.requests, summary.duration, summary.bytes, bad, e.connect, e.read, e.write,
      e.status, e.timeout, latency.mean, latency.max, latency:percentile(50),
      latency:percentile(90), latency:percentile(99), n_items, n_ok))
end
