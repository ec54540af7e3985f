-- id: ocpp_notifications
-- description: Acknowledge StatusNotification and MeterValues (their .conf payload is empty)
-- actions: empty_reply
SELECT clientid, payload.UniqueId AS id
FROM "ocpp/cp/+"
WHERE payload.MessageTypeId = 2
  AND (payload.Action = 'StatusNotification' OR payload.Action = 'MeterValues')
