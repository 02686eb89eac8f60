-- The policy `hookd bench` runs by default: a KumoMTA webhook-style log hook
-- that POSTs every record, as JSON, one record per request. hookd bench fills
-- in the {{...}} settings before loading it.
local kumo = require 'kumo'

local WEBHOOK_URL = '{{WEBHOOK_URL}}'
local HOOK = 'bench'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    -- The meta keys and headers the synthetic records carry: the webhook gets
    -- them all, the sequence number (X-Bench-Seq) included.
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
  }
end)

-- Keep every record; each tenant gets its own webhook queue.
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false -- never log about our own webhook deliveries
  end
  msg:set_meta('queue', (msg:get_meta 'tenant' or 'default') .. '@bench.webhook')
  return true
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'bench.webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s', -- the shortest the queue allows: a short retry tail for runs with failures
      max_retry_interval = '1s',
      protocol = { custom_lua = { constructor = 'make.bench.webhook' } },
    }
  end
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    connection_limit = {{CONNECTIONS}},
    -- hookd's circuit breaker opens after this many consecutive transient
    -- failures; bench raises it so that simulated failures only cause retries.
    hookd_breaker_failures = {{BREAKER_FAILURES}},
  }
end)

kumo.on('make.bench.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client { timeout = '30s' }
  local sender = {}

  function sender:send(msg)
    local response = client:post(WEBHOOK_URL)
      :header('Content-Type', 'application/json')
      :body(msg:get_data())
      :send()
    local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
    if response:status_is_success() then
      return disposition
    end
    if response:status_is_server_error() or response:status_code() == 429 then
      kumo.reject(400, disposition) -- transient: retried on the queue's schedule
    end
    kumo.reject(500, disposition) -- anything else bounces
  end

  function sender:close()
    client:close()
  end

  return sender
end)
