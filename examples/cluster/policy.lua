-- The policy of the cluster example's members, in the KumoMTA webhook style of
-- examples/webhook/policy.lua: every Delivery, Bounce and TransientFailure
-- record is POSTed, as JSON, to a webhook. Two things make it a cluster
-- policy:
--
--   * a queue per tenant (webhook.<tenant>), so that the members share the
--     work: each queue has one owner among the live members, which alone
--     delivers it, whichever member the record was posted to;
--   * the delivering member names itself in an X-Hookd-Member header, so that
--     the example can show who delivered what.
--
-- Every member runs the same file: members refuse a peer whose policy differs.
local kumo = require 'kumo'

-- The example sets both; the defaults suit `hookd sink --listen 127.0.0.1:8081`.
local WEBHOOK_URL = os.getenv 'WEBHOOK_URL' or 'http://127.0.0.1:8081/events'
local MEMBER = os.getenv 'HOOKD_MEMBER' or ''
local HOOK = 'webhook'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    -- Copy the tenant of the original message into each record: it names the queue.
    meta = { 'tenant' },
    per_record = {
      Reception = { enable = false },
      Delayed = { enable = false },
    },
  }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return -- not ours: let the next handler decide
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false -- never log about our own webhook deliveries
  end
  if record.type == 'Delivery' or record.type == 'Bounce' or record.type == 'TransientFailure' then
    msg:set_meta('queue', 'webhook.' .. (msg:get_meta 'tenant' or 'none'))
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain:sub(1, 8) == 'webhook.' then
    return kumo.make_queue_config {
      -- Short, so that the example's outage ends in seconds, not minutes.
      retry_interval = '1s',
      max_retry_interval = '2s',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    connection_limit = 4,
    -- hookd's circuit breaker (a hookd extension): reopen quickly after an outage.
    hookd_breaker_open_for = '1s',
    hookd_breaker_max_open_for = '2s',
  }
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client { timeout = '5s' }
  local sender = {}

  function sender:send(msg)
    local response = client:post(WEBHOOK_URL)
      :header('Content-Type', 'application/json')
      :header('X-Hookd-Member', MEMBER)
      :body(msg:get_data())
      :send()
    local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
    if response:status_is_success() then
      return disposition
    end
    if response:status_is_server_error() or response:status_code() == 429 then
      kumo.reject(400, disposition) -- the webhook is struggling: try again later
    end
    kumo.reject(500, disposition) -- anything else: give up on this record
  end

  function sender:close()
    client:close()
  end

  return sender
end)
