-- id: ocpp_boot
-- description: Accept every BootNotification (heartbeat interval 300 s)
-- actions: boot_accepted
SELECT clientid, payload.UniqueId AS id, now_rfc3339('millisecond') AS now
FROM "ocpp/cp/+"
WHERE payload.MessageTypeId = 2 AND payload.Action = 'BootNotification'
