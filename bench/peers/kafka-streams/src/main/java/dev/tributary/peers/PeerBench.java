package dev.tributary.peers;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The Kafka Streams half of the peer benchmark: the topologies of
 * bench/peers/tributary-topologies.ts, written with the Kafka Streams DSL.
 *
 * <p>Args: workload bootstrap applicationId stateDir records input[,input2] output. Prints
 * "STARTED" when the first input record is processed (for restore: when restoring starts) and
 * "DONE {json}" once `records` records went through the last stage and close() returned (which
 * flushes the caches and commits), then exits when its stdin closes. The parent reads /proc between the two lines.
 *
 * <p>A peek before the last stage counts records (a plain long would do: one stream thread),
 * so "done" means every record reached the stateful step, the repartition included.
 */
public final class PeerBench {
  private static final AtomicLong seen = new AtomicLong();
  private static final CountDownLatch started = new CountDownLatch(1);
  private static final CountDownLatch done = new CountDownLatch(1);
  private static long target;

  private static void count() {
    long n = seen.incrementAndGet();
    if (n == 1) started.countDown();
    if (n == target) done.countDown();
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 7) {
      System.err.println("usage: PeerBench workload bootstrap applicationId stateDir records inputs output");
      System.exit(2);
    }
    String workload = args[0];
    target = Long.parseLong(args[4]);
    String[] inputs = args[5].split(",");
    String output = args[6];

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[3]);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Tributary's default commit interval (packages/streams worker.ts), instead of Kafka
    // Streams' 30 s: the same cache flushes and output volume on both.
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    StreamsBuilder b = new StreamsBuilder();
    var bytes = Serdes.Bytes();
    var str = Serdes.String();
    switch (workload) {
      case "wordCount" -> {
        // groupBy a new key: a repartition topic, then a RocksDB count with changelog and cache
        b.stream(inputs[0], Consumed.with(str, str))
            .selectKey((k, line) -> line)
            .repartition(Repartitioned.with(str, str))
            .peek((k, v) -> count())
            .groupByKey(Grouped.with(str, str))
            .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
            .toStream()
            .to(output, Produced.with(str, Serdes.Long()));
      }
      case "stateless" -> {
        b.stream(inputs[0], Consumed.with(bytes, bytes))
            .mapValues(v -> v)
            .filter((k, v) -> k != null)
            .peek((k, v) -> count())
            .to(output, Produced.with(bytes, bytes));
      }
      case "windowedCount" -> {
        b.stream(inputs[0], Consumed.with(str, bytes))
            .peek((k, v) -> count())
            .groupByKey(Grouped.with(str, bytes))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(10)))
            .count(Materialized.as("windowed-counts"))
            .toStream()
            .map((wk, c) -> KeyValue.pair(wk.key() + "@" + wk.window().start(), c))
            .to(output, Produced.with(str, Serdes.Long()));
      }
      case "streamJoin" -> {
        KStream<String, Bytes> l = b.stream(inputs[0], Consumed.with(str, bytes)).peek((k, v) -> count());
        KStream<String, Bytes> r = b.stream(inputs[1], Consumed.with(str, bytes)).peek((k, v) -> count());
        l.join(
                r,
                (a, x) -> a,
                JoinWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(1)),
                StreamJoined.with(str, bytes, bytes).withStoreName("pairs"))
            .to(output, Produced.with(str, bytes));
      }
      case "restore" -> {
        // the store's changelog (<applicationId>-kv-changelog) was filled by the parent
        b.table(inputs[0], Consumed.with(bytes, bytes), Materialized.<Bytes, Bytes, KeyValueStore<Bytes, byte[]>>as("kv"));
      }
      default -> {
        System.err.println("unknown workload " + workload);
        System.exit(2);
      }
    }

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    AtomicLong restored = new AtomicLong();
    streams.setGlobalStateRestoreListener(
        new StateRestoreListener() {
          @Override
          public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
            if (workload.equals("restore")) started.countDown();
          }

          @Override
          public void onBatchRestored(TopicPartition tp, String store, long endOffset, long n) {}

          @Override
          public void onRestoreEnd(TopicPartition tp, String store, long total) {
            restored.addAndGet(total);
            if (workload.equals("restore")) done.countDown();
          }
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("Kafka Streams failed: " + e);
          e.printStackTrace();
          System.exit(1);
          return null;
        });
    streams.start();
    started.await();
    System.out.println("STARTED");
    System.out.flush();
    done.await();
    streams.close();
    System.out.println(
        "DONE {\"records\":" + (workload.equals("restore") ? restored.get() : seen.get()) + "}");
    System.out.flush();
    // the parent reads this process's /proc entries, then closes our stdin
    while (System.in.read() != -1) {}
    System.exit(0);
  }
}
