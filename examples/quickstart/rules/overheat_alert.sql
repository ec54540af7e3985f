-- id: overheat_alert
-- description: Republish readings above 40 °C to alerts/<clientid> for dashboards and pagers
-- actions: alerts
SELECT
  clientid,
  payload.temp AS temp,
  topic AS source_topic,
  'overheat' AS alert
FROM "sensors/+/temperature"
WHERE payload.temp > 40
