"""The peer benchmark's word count on Quix Streams (bench/peers/quix-streams-app.ts runs it).

The topology of tributary-topologies.ts's wordCount: a group_by the word (a repartition
topic), then a count in RocksDB state with its changelog, each update sent out as the
word and an int64 count (Kafka's LongSerializer bytes). Quix has no write-back cache, so
every record's count goes out.

Args: bootstrap applicationId stateDir records input output. Prints STARTED at the first
counted record and DONE {json} once `records` records are counted and the app has stopped
(committed), then waits for stdin to close (child-run.ts reads /proc meanwhile).
"""

import struct
import sys

from quixstreams import Application

bootstrap, app_id, state_dir, records, input_topic, output_topic = sys.argv[1:]
target = int(records)
app = Application(
    broker_address=bootstrap,
    consumer_group=app_id,
    auto_offset_reset="earliest",
    commit_interval=1.0,  # Tributary's default, as the Kafka Streams app sets too
    state_dir=state_dir,
    loglevel="WARNING",
)
words = app.topic(input_topic, key_deserializer="bytes", value_deserializer="str")
out = app.topic(output_topic, key_serializer="str", value_serializer="bytes")
seen = 0


def count(word, state):
    global seen
    n = state.get("count", 0) + 1
    state.set("count", n)
    seen += 1
    if seen == 1:
        print("STARTED", flush=True)
    if seen == target:
        app.stop()
    return struct.pack(">q", n)


sdf = app.dataframe(words)
sdf = sdf.group_by(
    lambda word: word,
    name="words",
    key_serializer="str",
    key_deserializer="str",
    value_serializer="str",
    value_deserializer="str",
)
sdf = sdf.apply(count, stateful=True)
sdf.to_topic(out)
app.run()
print('DONE {"records": %d}' % seen, flush=True)
sys.stdin.read()
