import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Exits 0 once the broker at args[0] answers a metadata request (describeCluster lists a
 * broker and a controller), 1 when args[1] seconds pass first. A port that accepts
 * connections is not enough: a KRaft broker listens before it has caught up with the
 * metadata log, and requests sent then fail.
 *
 * Run as a single-file source program: java -cp 'libs/*' WaitReady.java host:port seconds
 */
public class WaitReady {
  public static void main(String[] args) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    String last = "no answer";
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        try {
          var cluster = admin.describeCluster();
          int brokers = cluster.nodes().get(5, TimeUnit.SECONDS).size();
          var controller = cluster.controller().get(5, TimeUnit.SECONDS);
          admin.listTopics().names().get(5, TimeUnit.SECONDS);
          if (brokers > 0 && controller != null) {
            System.out.println("cluster " + cluster.clusterId().get() + " serves " + brokers + " broker(s)");
            return;
          }
          last = "no broker registered yet";
        } catch (Exception e) {
          last = e.getCause() != null ? e.getCause().toString() : e.toString();
        }
        Thread.sleep(250);
      }
    }
    System.err.println("broker at " + args[0] + " did not serve metadata in time: " + last);
    System.exit(1);
  }
}
