"""Drives HStreamDB's official Python client (PyPI `hstreamdb`, unmodified) against a server.

Used by test/integration/hstream-python.test.ts. Reads a JSON plan on stdin, prints one JSON
document on stdout:

  {"port": N,
   "read": [{"stream": "...", "expect": <records>}],          # read back what Sluice wrote
   "append": {"stream": "...", "shards": 2}}                   # appends to check our reader

For every stream in "read": every shard through a named shard reader (create_reader /
read_reader / delete_reader), then the whole stream through a subscription consumer
(create_subscription EARLIEST, new_consumer, ack everything) until "expect" records arrived.
A client-side failure is reported as {"error": "<Type>: <message>"} for that path instead of
aborting the run. "append" creates the stream and appends with the client's own encoders.
"""
import asyncio
import base64
import json
import sys

import hstreamdb
from hstreamdb import ShardOffset, SpecialOffset, insecure_client


def record_json(r):
    raw = r.payload if isinstance(r.payload, (bytes, bytearray)) else None
    return {
        "shard": str(r.id.shard_id),
        "batch": str(r.id.batch_id),
        "index": r.id.batch_index,
        "key": r.header.key or "",
        "raw": base64.b64encode(raw).decode() if raw is not None else None,
        "json": None if raw is not None else r.payload,
    }


def failure(e):
    return {"error": f"{type(e).__name__}: {e}"}


async def read_shards(client, stream):
    out = []
    for shard in await client.list_shards(stream):
        reader_id = f"py_{stream}_{shard.id}"
        offset = ShardOffset(specialOffset=SpecialOffset.EARLIEST)
        async with client.with_reader(stream, reader_id, offset, 200, shard_id=shard.id) as r:
            while True:
                got = list(await r.read(100))
                if not got:
                    break
                out.extend(record_json(x) for x in got)
    return out


async def consume(client, stream, expect):
    sub = f"py_sub_{stream}"
    await client.create_subscription(
        sub, stream, ack_timeout=30, max_unacks=1000, offset=SpecialOffset.EARLIEST
    )
    got = []

    async def on_records(ack, stop, records):
        batch = list(records)  # decoding happens here (raises for unsupported compression)
        got.extend(record_json(x) for x in batch)
        await ack([x.id for x in batch])
        if len(got) >= expect:
            await stop()

    consumer = client.new_consumer(f"py_consumer_{stream}", sub, on_records)
    try:
        await asyncio.wait_for(consumer.start(), 30)
    finally:
        try:
            await client.delete_subscription(sub, force=True)
        except Exception:  # noqa: BLE001 - cleanup only
            pass
    return got


async def main():
    plan = json.load(sys.stdin)
    result = {"version": hstreamdb.__version__, "read": [], "append": None}
    async with await insecure_client(host="127.0.0.1", port=plan["port"]) as client:
        for item in plan.get("read", []):
            entry = {"stream": item["stream"]}
            try:
                entry["reader"] = await read_shards(client, item["stream"])
            except Exception as e:  # noqa: BLE001 - reported to the test
                entry["reader"] = failure(e)
            try:
                entry["consumer"] = await consume(client, item["stream"], item["expect"])
            except Exception as e:  # noqa: BLE001
                entry["consumer"] = failure(e)
            result["read"].append(entry)
        ap = plan.get("append")
        if ap:
            s = ap["stream"]
            await client.create_stream(s, shard_count=ap["shards"])
            ids = []
            for key in ["alpha", "beta", "gamma"]:
                for i in range(3):
                    ids += list(await client.append(s, [f"{key}-{i} ✓"], key=key))
            ids += list(await client.append(s, [{"temp": 21.5, "ok": True}], key="alpha"))
            ids += list(
                await client.append(s, ["gz-0", b"gz-1"], key="beta", compresstype="gzip")
            )
            result["append"] = [
                {"shard": str(i.shard_id), "batch": str(i.batch_id), "index": i.batch_index}
                for i in ids
            ]
    json.dump(result, sys.stdout)


asyncio.run(main())
