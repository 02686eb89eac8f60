-- policy-extras.log_hooks: helpers that set up a KumoMTA-style log hook in
-- one call. Written for hookd; the names, options and behaviour follow
-- KumoMTA's documented `policy-extras.log_hooks` module.
--
--   local log_hooks = require 'policy-extras.log_hooks'
--
--   log_hooks:new_json { name = 'webhook', url = 'https://example.com/hook' }
--
--   log_hooks:new {
--     name = 'batched',
--     batch_size = 100,
--     constructor = function(domain, tenant, campaign) ... end,
--   }
--
-- Each hook named N gets:
--   * a pre_init handler that calls kumo.configure_log_hook{ name = N, ... }
--     (the rest of the table comes from `log_parameters`);
--   * a should_enqueue_log_record handler that keeps the records of hook N
--     (except records about log-hook messages, and those `filter` refuses)
--     and routes them to the queue 'N.log_hook';
--   * a get_queue_config handler for the queue 'N.log_hook' that delivers
--     with custom_lua through the event 'make.N.log_hook';
--   * that constructor event, bound to `constructor`.
-- Handlers for other hooks and other queues return nothing, so that later
-- handlers (the policy's own, or another hook's) still decide. Create hooks
-- before registering any catch-all get_queue_config handler.
local kumo = require 'kumo'

local M = {}

-- Hook names taken in this Lua state, by new, new_json and
-- new_disposition_hook alike.
local taken = {}

-- Option schemas: key -> { kind, required }. Kinds: 'string', 'function',
-- 'table', 'count' (an integer >= 1), 'duration' (seconds >= 0, or text such
-- as '10s').
local NEW_OPTIONS = {
  name = { 'string', true },
  constructor = { 'function', true },
  log_parameters = { 'table' },
  queue_config = { 'table' },
  batch_size = { 'count' },
  min_batch_size = { 'count' },
  max_batch_latency = { 'duration' },
  filter = { 'function' },
}

local JSON_OPTIONS = {
  name = { 'string', true },
  url = { 'string', true },
  log_parameters = { 'table' },
  queue_config = { 'table' },
}

local DISPOSITION_OPTIONS = {
  name = { 'string', true },
  hook = { 'function', true },
}

-- The source name of this module's chunk, to tell its stack frames from the
-- policy's.
local getinfo = debug and debug.getinfo
local OWN_SOURCE = getinfo and getinfo(1, 'S').source

-- raise reports a mistake in the options at the policy line that called the
-- public function: the nearest stack frame outside this module. (Error levels
-- are not used for this: engines count them differently.)
local function raise(fmt, ...)
  local msg = string.format(fmt, ...)
  for level = 2, getinfo and 64 or 1 do
    local info = getinfo(level, 'Sl')
    if not info then
      break
    end
    if info.source ~= OWN_SOURCE and (info.currentline or 0) > 0 then
      local where = (info.short_src or info.source or '?'):gsub('^[@=]', '')
      error(where .. ':' .. info.currentline .. ': ' .. msg, 0)
    end
  end
  error(msg, 0)
end

local KIND_TEXT = {
  string = 'a string',
  ['function'] = 'a function',
  table = 'a table',
  count = 'an integer of at least 1',
  duration = 'a duration (seconds, or text such as "10s")',
}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function describe_key(k)
  if type(k) == 'string' then
    return "'" .. k .. "'"
  end
  return '[' .. tostring(k) .. ']'
end

local function describe_value(v)
  if type(v) == 'string' then
    return 'string ' .. string.format('%q', v)
  elseif type(v) == 'number' or type(v) == 'boolean' then
    return type(v) .. ' ' .. tostring(v)
  end
  return type(v)
end

local function kind_matches(kind, v)
  if kind == 'count' then
    return type(v) == 'number' and v >= 1 and math.floor(v) == v
  elseif kind == 'duration' then
    return (type(v) == 'number' and v >= 0) or type(v) == 'string'
  end
  return type(v) == kind
end

-- check_options validates the options table given to `what` against schema
-- and returns it.
local function check_options(what, options, schema)
  if type(options) ~= 'table' then
    raise('%s: expected a table of options, got %s', what, type(options))
  end
  local unknown = {}
  for _, k in ipairs(sorted_keys(options)) do
    if type(k) ~= 'string' or schema[k] == nil then
      unknown[#unknown + 1] = describe_key(k)
    end
  end
  if #unknown > 0 then
    raise(
      '%s: unknown option %s (accepted: %s)',
      what,
      table.concat(unknown, ', '),
      table.concat(sorted_keys(schema), ', ')
    )
  end
  for _, k in ipairs(sorted_keys(schema)) do
    local kind, required = schema[k][1], schema[k][2]
    local v = options[k]
    if v == nil then
      if required then
        raise("%s: option '%s' is required", what, k)
      end
    elseif not kind_matches(kind, v) then
      raise(
        "%s: option '%s' must be %s, got %s",
        what,
        k,
        KIND_TEXT[kind],
        describe_value(v)
      )
    end
  end
  if options.name == '' then
    raise("%s: option 'name' must not be empty", what)
  end
  return options
end

-- claim records a hook name; a name already in use is an error.
local function claim(name)
  if taken[name] then
    raise("log_hook with name '%s' has already been configured", name)
  end
  taken[name] = true
end

local function copy(t)
  local out = {}
  if t then
    for k, v in pairs(t) do
      out[k] = v
    end
  end
  return out
end

-- register installs the handlers of one hook; the options are already checked
-- and the name claimed.
local function register(options)
  local name = options.name
  local queue_name = name .. '.log_hook'
  local constructor_event = 'make.' .. queue_name
  local log_parameters = copy(options.log_parameters)
  local queue_config = copy(options.queue_config)
  local filter = options.filter
  local batch_size = options.batch_size or 1
  local min_batch_size = options.min_batch_size
  local max_batch_latency = options.max_batch_latency

  kumo.on('pre_init', function()
    local params = copy(log_parameters)
    params.name = name -- the hook must carry the name its handlers answer to
    kumo.configure_log_hook(params)
  end)

  kumo.on('should_enqueue_log_record', function(msg, hook_name)
    if hook_name ~= name then
      return -- another hook's record: let the next handler decide
    end
    local record = msg:get_meta 'log_record'
    if type(record) == 'table' and record.reception_protocol == 'LogRecord' then
      return false -- a record about a log-hook message: never loop
    end
    if filter and filter(msg, hook_name) then
      return false
    end
    msg:set_meta('queue', queue_name)
    return true
  end)

  kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
    if domain ~= queue_name then
      return -- another queue: let the next handler decide
    end
    local params = { retry_interval = '1m', max_retry_interval = '20m' }
    for k, v in pairs(queue_config) do
      params[k] = v
    end
    params.protocol = {
      custom_lua = {
        constructor = constructor_event,
        batch_size = batch_size,
        min_batch_size = min_batch_size,
        max_batch_latency = max_batch_latency,
      },
    }
    return kumo.make_queue_config(params)
  end)

  kumo.on(constructor_event, options.constructor)
end

-- log_hooks:new{ name, constructor, log_parameters?, queue_config?,
--   batch_size?, min_batch_size?, max_batch_latency?, filter? }
function M:new(options)
  if options == nil and self ~= M then
    options = self -- called as log_hooks.new{...}
  end
  check_options('log_hooks:new', options, NEW_OPTIONS)
  claim(options.name)
  register(options)
end

-- json_sender returns the constructor of a new_json hook: one HTTP client per
-- connection, each message POSTed as it is (the record's JSON).
local function json_sender(url)
  return function(domain, tenant, campaign)
    local client = kumo.http.build_client {}
    local connection = {}

    function connection:send(msg)
      local response = client
        :post(url)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      local disposition = string.format(
        '%d %s: %s',
        response:status_code(),
        tostring(response:status_reason()),
        response:text()
      )
      if response:status_is_success() then
        return disposition
      end
      -- The receiver refused the record: give up on it (a bounce). Only
      -- transport errors, raised by send() above, are retried.
      kumo.reject(500, disposition)
    end

    function connection:close()
      client:close()
    end

    return connection
  end
end

-- log_hooks:new_json{ name, url, log_parameters?, queue_config? }
function M:new_json(options)
  if options == nil and self ~= M then
    options = self
  end
  check_options('log_hooks:new_json', options, JSON_OPTIONS)
  claim(options.name)
  register {
    name = options.name,
    constructor = json_sender(options.url),
    log_parameters = options.log_parameters,
    queue_config = options.queue_config,
  }
end

-- log_hooks:new_disposition_hook{ name, hook }: calls hook(msg, log_record)
-- for each record through kumo.configure_log_disposition_hook, where the
-- engine offers it.
function M:new_disposition_hook(options)
  if options == nil and self ~= M then
    options = self
  end
  check_options('log_hooks:new_disposition_hook', options, DISPOSITION_OPTIONS)
  if type(kumo.configure_log_disposition_hook) ~= 'function' then
    raise('log_hooks:new_disposition_hook: kumo.configure_log_disposition_hook is not available in this engine')
  end
  claim(options.name)
  local name = options.name
  kumo.on('pre_init', function()
    kumo.configure_log_disposition_hook { name = name }
  end)
  kumo.on('log_disposition_' .. name, options.hook)
end

return M
