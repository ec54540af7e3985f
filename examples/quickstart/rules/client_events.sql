-- id: client_events
-- description: Print every client connect and disconnect
-- actions: console
SELECT event, clientid, username, peername, reason
FROM "$events/client/connected", "$events/client/disconnected"
