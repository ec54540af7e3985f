-- id: ocpp_events
-- description: Print charge point connects and disconnects
-- actions: console
SELECT event, clientid, username, protocol, reason
FROM "$events/client/connected", "$events/client/disconnected"
WHERE protocol = 'ocpp'
