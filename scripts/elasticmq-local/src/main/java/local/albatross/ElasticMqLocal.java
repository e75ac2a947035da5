package local.albatross;

import java.io.IOException;

/**
 * ElasticMQ's own server main, plus one thing it lacks: the JVM exits when its standard input
 * reaches end-of-file, i.e. when the Node process that started it is gone (even if killed), so no
 * server outlives a test run. Exit runs ElasticMQ's shutdown hook.
 */
public final class ElasticMqLocal {
  private ElasticMqLocal() {}

  public static void main(String[] args) throws Exception {
    Thread watcher = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // discard
        }
      } catch (IOException e) {
        // a broken pipe means the parent is gone too
      }
      System.exit(0);
    }, "exit-on-stdin-eof");
    watcher.setDaemon(true);
    watcher.start();
    org.elasticmq.server.Main.main(args);
  }
}
