-- id: ocpp_heartbeat
-- description: Answer Heartbeat with the current time
-- actions: heartbeat_reply
SELECT clientid, payload.UniqueId AS id, now_rfc3339('millisecond') AS now
FROM "ocpp/cp/+"
WHERE payload.MessageTypeId = 2 AND payload.Action = 'Heartbeat'
