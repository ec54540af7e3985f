-- id: high_temp
-- description: Print temperature readings above 30 °C with the device that sent them
-- actions: console
SELECT
  clientid,
  topic,
  payload.temp AS temp,
  timestamp
FROM "sensors/+/temperature"
WHERE payload.temp > 30
