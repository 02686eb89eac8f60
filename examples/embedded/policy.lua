-- The policy of the embedded example (see README.md beside it).
--
-- The sign-up service injects welcome mails for tenant "signup", campaign
-- "welcome". hookd speaks no SMTP, so their queue delivers through a custom_lua
-- "outbox". Every Reception, Delivery, Bounce and TransientFailure record,
-- whether hookd wrote it or the service fed it in through POST /events, is
-- POSTed as JSON to the webhook the service was started with.
local kumo = require 'kumo'

-- kumo.setting is a Go function that the service adds to the kumo module.
local WEBHOOK_URL = kumo.setting 'webhook_url'
local HOOK = 'events'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject' },
    per_record = { Delayed = { enable = false } },
  }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return -- not ours: let the next handler decide
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false -- never report our own webhook calls
  end
  local kind = record.type
  if kind == 'Reception' or kind == 'Delivery' or kind == 'Bounce' or kind == 'TransientFailure' then
    msg:set_meta('queue', 'webhook')
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain, tenant, campaign)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '10s',
      max_retry_interval = '5m',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
  if tenant == 'signup' then -- the welcome mails: campaign:tenant@domain queues
    return kumo.make_queue_config {
      protocol = { custom_lua = { constructor = 'make.outbox' } },
    }
  end
end)

-- A real service would hand the mail to its provider's HTTP API here; this one
-- only logs it, and the message counts as delivered.
kumo.on('make.outbox', function(domain, tenant, campaign)
  return {
    send = function(self, msg)
      kumo.log_info('welcome mail to', msg:recipient(), 'subject:', msg:get_first_named_header_value 'Subject')
      return '250 2.0.0 logged, not sent (dry run)'
    end,
  }
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client { timeout = '10s' }
  return {
    send = function(self, msg)
      local response = client:post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
      if response:status_is_success() then
        return disposition
      end
      if response:status_is_server_error() or response:status_code() == 429 then
        kumo.reject(400, disposition) -- retried later
      end
      kumo.reject(500, disposition) -- the webhook refuses this record: give up
    end,
    close = function(self)
      client:close()
    end,
  }
end)
