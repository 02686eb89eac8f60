-- The policy `hookd bench --batch N` runs: a KumoMTA webhook-style log hook
-- that delivers with send_batch, posting up to {{BATCH_SIZE}} records per
-- request as a JSON array. hookd bench fills in the {{...}} settings.
local kumo = require 'kumo'

local WEBHOOK_URL = '{{WEBHOOK_URL}}'
local HOOK = 'bench'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
  }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  msg:set_meta('queue', (msg:get_meta 'tenant' or 'default') .. '@bench.webhook')
  return true
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'bench.webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s', -- the shortest the queue allows: a short retry tail for runs with failures
      max_retry_interval = '1s',
      protocol = {
        custom_lua = {
          constructor = 'make.bench.webhook',
          batch_size = {{BATCH_SIZE}},
          min_batch_size = {{MIN_BATCH_SIZE}},
          max_batch_latency = '{{MAX_BATCH_LATENCY}}',
        },
      },
    }
  end
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    connection_limit = {{CONNECTIONS}},
    hookd_breaker_failures = {{BREAKER_FAILURES}},
  }
end)

kumo.on('make.bench.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client { timeout = '30s' }
  local sender = {}

  local function post(body)
    local response = client:post(WEBHOOK_URL)
      :header('Content-Type', 'application/json')
      :body(body)
      :send()
    local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
    if response:status_is_success() then
      return disposition
    end
    if response:status_is_server_error() or response:status_code() == 429 then
      kumo.reject(400, disposition) -- transient: the whole batch is retried
    end
    kumo.reject(500, disposition)
  end

  function sender:send_batch(msgs)
    local bodies = {}
    for i, msg in ipairs(msgs) do
      bodies[i] = msg:get_data()
    end
    return post('[' .. table.concat(bodies, ',') .. ']')
  end

  function sender:send(msg)
    return post('[' .. msg:get_data() .. ']')
  end

  function sender:close()
    client:close()
  end

  return sender
end)
