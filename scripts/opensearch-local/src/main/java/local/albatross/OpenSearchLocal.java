package local.albatross;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A genuine single-node OpenSearch in this JVM, without the distribution's Bootstrap:
 * the modules are passed as classpath plugins, so plugins/ and modules/ stay empty
 * (no jar-hell check, no security manager, no bootstrap checks).
 *
 * Protocol on stdout (logs go to stderr): one line, either
 * {@code OPENSEARCH_READY http://127.0.0.1:PORT} or {@code OPENSEARCH_FAILED <error>}.
 *
 * Options: --home DIR (default: a new temporary directory), --port N (default 0 =
 * ephemeral), --cluster-name NAME, --exit-on-stdin-eof (exit when the parent closes
 * our stdin, so the JVM never outlives the process that started it),
 * --delete-home-on-exit (remove the home directory once the node is closed, also when
 * the parent died without cleaning up), --plugin CLASS (one more classpath plugin, required;
 * repeatable: the secure engine passes the security plugin). Further node settings come from
 * {@code <home>/config/opensearch.yml} when the caller wrote one there.
 */
public final class OpenSearchLocal {

    private static final String NODE_NAME = "albatross-local-0";

    /** Netty4 is mandatory (HTTP and transport); the rest are added when on the classpath. */
    private static final String REQUIRED_PLUGIN = "org.opensearch.transport.Netty4Plugin";
    private static final List<String> OPTIONAL_PLUGINS = List.of(
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.index.reindex.ReindexPlugin",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.geo.GeoModulePlugin");

    /** Node's plugin-taking constructor is protected; the test framework's MockNode cannot be used outside JUnit. */
    private static final class LocalNode extends Node {
        LocalNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // Only feeds log4j pattern converters that this logging setup does not use.
        }
    }

    private static volatile Node node;
    private static volatile Path homeToDelete;

    public static void main(String[] args) {
        // Kept before anything else can touch System.out: the protocol line goes here.
        final PrintStream protocol = System.out;
        try {
            Options options = Options.parse(args);
            Path home = options.home != null ? options.home : Files.createTempDirectory("opensearch-local-");
            if (options.deleteHomeOnExit) {
                homeToDelete = home;
            }
            for (String dir : List.of("config", "data", "logs", "plugins", "modules")) {
                Files.createDirectories(home.resolve(dir));
            }
            if (options.exitOnStdinEof) {
                startStdinWatchdog();
            }
            Runtime.getRuntime().addShutdownHook(new Thread(OpenSearchLocal::closeNode, "opensearch-local-shutdown"));

            Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", options.clusterName)
                .put("node.name", NODE_NAME)
                .put("discovery.type", "single-node")
                // One bind address: with several, port 0 can bind different ports and the publish port cannot be resolved.
                .put("network.host", "127.0.0.1")
                .put("http.port", options.port)
                .put("transport.port", "0")
                // A nearly full disk must not turn test indices read-only.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("indices.breaker.total.use_real_memory", false)
                .put("node.portsfile", true)
                .build();

            Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), home.resolve("config"), () -> NODE_NAME);
            node = new LocalNode(environment, loadPlugins(options.plugins));
            node.start();

            // Ignored as a node setting in 2.x (OpenSearch#20389), honoured as a persistent cluster setting.
            node.client().admin().cluster().prepareUpdateSettings()
                .setPersistentSettings(Settings.builder().put("cluster.default_number_of_replicas", 0))
                .get();

            TransportAddress address = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
            protocol.println("OPENSEARCH_READY http://" + address.getAddress() + ":" + address.getPort());
            protocol.flush();

            // Every OpenSearch thread is a daemon: without this the JVM would exit now.
            new CountDownLatch(1).await();
        } catch (Throwable error) {
            protocol.println("OPENSEARCH_FAILED " + oneLine(error));
            protocol.flush();
            error.printStackTrace();
            System.exit(1); // the shutdown hook closes a half-started node
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Class<? extends Plugin>> loadPlugins(List<String> required) throws ClassNotFoundException {
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        // Fail loudly: without Netty the node would die later with "Unsupported http.type []".
        plugins.add((Class<? extends Plugin>) Class.forName(REQUIRED_PLUGIN).asSubclass(Plugin.class));
        for (String name : OPTIONAL_PLUGINS) {
            try {
                plugins.add((Class<? extends Plugin>) Class.forName(name).asSubclass(Plugin.class));
            } catch (ClassNotFoundException absent) {
                System.err.println("opensearch-local: plugin " + name + " not on the classpath, skipped");
            }
        }
        for (String name : required) {
            plugins.add((Class<? extends Plugin>) Class.forName(name).asSubclass(Plugin.class));
        }
        return plugins;
    }

    private static void startStdinWatchdog() {
        Thread watchdog = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) {
                    // Nothing is expected on stdin; only its end matters.
                }
            } catch (IOException ignored) {
                // A broken pipe means the parent is gone, same as end-of-file.
            }
            System.exit(0);
        }, "opensearch-local-stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private static void closeNode() {
        Node running = node;
        if (running != null) {
            try {
                running.close();
                running.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception error) {
                error.printStackTrace();
            }
        }
        if (homeToDelete != null) {
            deleteRecursively(homeToDelete);
        }
        // log4j's own hook is disabled (-Dlog4j.shutdownHookEnabled=false) so closing can still log.
        LogManager.shutdown();
    }

    private static void deleteRecursively(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException | UncheckedIOException error) {
            System.err.println("opensearch-local: could not delete " + root + ": " + error);
        }
    }

    private static String oneLine(Throwable error) {
        String message = error.getClass().getName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
        return message.replace('\n', ' ').replace('\r', ' ');
    }

    private record Options(Path home, String port, String clusterName, boolean exitOnStdinEof, boolean deleteHomeOnExit,
                           List<String> plugins) {
        static Options parse(String[] args) {
            Path home = null;
            String port = "0";
            String clusterName = "albatross-local";
            boolean exitOnStdinEof = false;
            boolean deleteHomeOnExit = false;
            List<String> plugins = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--home" -> home = Path.of(value(args, ++i, "--home")).toAbsolutePath();
                    case "--port" -> port = value(args, ++i, "--port");
                    case "--cluster-name" -> clusterName = value(args, ++i, "--cluster-name");
                    case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
                    case "--delete-home-on-exit" -> deleteHomeOnExit = true;
                    case "--plugin" -> plugins.add(value(args, ++i, "--plugin"));
                    default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (expected --home DIR, --port N, --cluster-name NAME, --exit-on-stdin-eof, --delete-home-on-exit, --plugin CLASS)");
                }
            }
            return new Options(home, port, clusterName, exitOnStdinEof, deleteHomeOnExit, List.copyOf(plugins));
        }

        private static String value(String[] args, int index, String option) {
            if (index >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[index];
        }
    }
}
