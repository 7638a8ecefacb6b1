// InteropClient - drives a broker with Apache Kafka's own Java client for
// samsa's integration tests.  Modes:
//   produce BOOTSTRAP TOPIC COUNT COMPRESSION   -> "partition<TAB>offset<TAB>key" per record
//   consume BOOTSTRAP TOPIC COUNT              -> "partition<TAB>offset<TAB>key<TAB>value<TAB>timestamp<TAB>headers"
//   admin   BOOTSTRAP TOPIC PARTITIONS         -> creates, lists and describes the topic
//   group   BOOTSTRAP TOPIC GROUP ASSIGNOR INSTANCE|- SESSION_MS
//           -> subscribes; prints "ASSIGNED p,..", "REVOKED p,..", "REC p offset key";
//              commits after every poll; leaves the group on SIGTERM
//   resubscribe BOOTSTRAP TOPIC_A TOPIC_B GROUP
//           -> the group's only member subscribes to A, then to A and B;
//              prints "RESUBSCRIBED <ms>" once both are assigned
//   transact BOOTSTRAP TOPIC COUNT TXNID
//           -> COUNT transactions of 3 records to partition 0, every third
//              aborted, then one left open while the Admin API describes it:
//              "DESCRIBE state epoch timeout topic-partitions",
//              "LIST state" (listTransactions filtered to TXNID),
//              "PRODUCER epoch last-sequence txn-start-offset"; then it
//              commits and a read_committed consumer prints "REC offset value"
// Every client also takes the properties of the file named by the
// INTEROP_CLIENT_CONFIG environment variable (security.protocol, ssl.*,
// sasl.*), so the same modes run over SSL and SASL listeners.
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.*;

public class InteropClient {
    static Properties clientProperties() {
        Properties p = new Properties();
        String file = System.getenv("INTEROP_CLIENT_CONFIG");
        if (file != null) {
            try (java.io.FileReader r = new java.io.FileReader(file)) {
                p.load(r);
            } catch (java.io.IOException e) {
                throw new RuntimeException("cannot read " + file, e);
            }
        }
        return p;
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0], bootstrap = args[1], topic = args[2];
        switch (mode) {
            case "produce": produce(bootstrap, topic, Integer.parseInt(args[3]), args[4]); break;
            case "consume": consume(bootstrap, topic, Integer.parseInt(args[3])); break;
            case "admin": admin(bootstrap, topic, Integer.parseInt(args[3])); break;
            case "group": group(bootstrap, topic, args[3], args[4], args[5], args[6]); break;
            case "resubscribe": resubscribe(bootstrap, topic, args[3], args[4]); break;
            case "transact": transact(bootstrap, topic, Integer.parseInt(args[3]), args[4]); break;
            default: throw new IllegalArgumentException(mode);
        }
    }

    static void produce(String bootstrap, String topic, int count, String compression) throws Exception {
        Properties p = clientProperties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < count; i++) {
                String key = "java-k" + i;
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, key, "java-v" + i);
                r.headers().add("src", "java".getBytes(StandardCharsets.UTF_8));
                acks.add(producer.send(r));
                keys.add(key);
            }
            producer.flush();
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < count; i++) {
                RecordMetadata md = acks.get(i).get();
                out.append(md.partition()).append('\t').append(md.offset()).append('\t').append(keys.get(i)).append('\n');
            }
            System.out.print(out);
        }
    }

    static void consume(String bootstrap, String topic, int count) {
        Properties p = clientProperties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30)))
                tps.add(new TopicPartition(topic, pi.partition()));
            c.assign(tps);
            c.seekToBeginning(tps);
            int got = 0;
            long deadline = System.currentTimeMillis() + 60000;
            StringBuilder out = new StringBuilder();
            while (got < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    StringBuilder h = new StringBuilder();
                    for (Header hd : r.headers())
                        h.append(hd.key()).append('=').append(new String(hd.value(), StandardCharsets.UTF_8)).append(';');
                    out.append(r.partition()).append('\t').append(r.offset()).append('\t').append(r.key())
                       .append('\t').append(r.value()).append('\t').append(r.timestamp()).append('\t').append(h).append('\n');
                    got++;
                }
            }
            System.out.print(out);
        }
    }

    static String parts(Collection<TopicPartition> tps) {
        StringBuilder b = new StringBuilder();
        for (TopicPartition tp : tps) {
            if (b.length() > 0) b.append(',');
            b.append(tp.partition());
        }
        return b.toString();
    }

    static void group(String bootstrap, String topic, String group, String assignor, String instance,
                      String sessionMs) {
        Properties p = clientProperties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, sessionMs);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        String cls = assignor.equals("range") ? "org.apache.kafka.clients.consumer.RangeAssignor"
                   : assignor.equals("roundrobin") ? "org.apache.kafka.clients.consumer.RoundRobinAssignor"
                   : "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
        if (!instance.equals("-")) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        KafkaConsumer<String, String> c = new KafkaConsumer<>(p);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            c.wakeup();
            try { main.join(10000); } catch (InterruptedException e) { }
        }));
        try {
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                    System.out.println("REVOKED " + parts(tps)); System.out.flush();
                }
                public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                    System.out.println("ASSIGNED " + parts(tps)); System.out.flush();
                }
            });
            while (true) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                if (recs.isEmpty()) continue;
                StringBuilder out = new StringBuilder();
                for (ConsumerRecord<String, String> r : recs)
                    out.append("REC ").append(r.partition()).append(' ').append(r.offset()).append(' ').append(r.key()).append('\n');
                System.out.print(out);
                System.out.flush();
                c.commitSync();
            }
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            // shutting down
        } finally {
            c.close();
            System.out.println("CLOSED");
            System.out.flush();
        }
    }

    static void admin(String bootstrap, String topic, int partitions) throws Exception {
        Properties p = clientProperties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin a = Admin.create(p)) {
            a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
            System.out.println("created " + topic);
            System.out.println("listed " + a.listTopics().names().get().contains(topic));
            TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            System.out.println("partitions " + d.partitions().size());
            System.out.println("cluster " + a.describeCluster().clusterId().get());
            try {
                a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
                System.out.println("duplicate-create succeeded");
            } catch (java.util.concurrent.ExecutionException e) {
                System.out.println("duplicate-create " + e.getCause().getClass().getSimpleName());
            }
            a.deleteTopics(List.of(topic)).all().get();
            System.out.println("deleted " + topic);
        }
    }

    static Set<String> assignedTopics(KafkaConsumer<String, String> c) {
        Set<String> out = new HashSet<>();
        for (TopicPartition tp : c.assignment()) out.add(tp.topic());
        return out;
    }

    static void pollUntilAssigned(KafkaConsumer<String, String> c, Set<String> want) {
        long deadline = System.currentTimeMillis() + 120000;
        while (!assignedTopics(c).equals(want)) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("not assigned " + want);
            c.poll(Duration.ofMillis(100));
        }
    }

    static void resubscribe(String bootstrap, String a, String b, String group) {
        Properties p = clientProperties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(a));
            pollUntilAssigned(c, Set.of(a));
            long t0 = System.currentTimeMillis();
            c.subscribe(List.of(a, b));
            pollUntilAssigned(c, Set.of(a, b));
            System.out.println("RESUBSCRIBED " + (System.currentTimeMillis() - t0));
        }
    }

    static void transact(String bootstrap, String topic, int count, String txnId) throws Exception {
        Properties p = clientProperties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        StringBuilder out = new StringBuilder();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p);
             Admin admin = Admin.create(Collections.singletonMap(
                 AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, (Object) bootstrap))) {
            producer.initTransactions();
            for (int t = 0; t < count; t++) {
                producer.beginTransaction();
                for (int i = 0; i < 3; i++)
                    producer.send(new ProducerRecord<>(topic, 0, "k", "t" + t + "-" + i));
                producer.flush();
                if (t % 3 == 2)
                    producer.abortTransaction();
                else
                    producer.commitTransaction();
            }
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, "k", "last"));
            producer.flush();
            TransactionDescription d = admin.describeTransactions(Collections.singleton(txnId))
                .description(txnId).get();
            out.append("DESCRIBE ").append(d.state()).append(' ').append(d.producerEpoch())
               .append(' ').append(d.transactionTimeoutMs()).append(' ').append(d.topicPartitions()).append('\n');
            for (TransactionListing l : admin.listTransactions().all().get())
                if (l.transactionalId().equals(txnId))
                    out.append("LIST ").append(l.state()).append('\n');
            TopicPartition tp = new TopicPartition(topic, 0);
            for (ProducerState ps : admin.describeProducers(Collections.singleton(tp))
                     .partitionResult(tp).get().activeProducers())
                out.append("PRODUCER ").append(ps.producerEpoch()).append(' ').append(ps.lastSequence())
                   .append(' ').append(ps.currentTransactionStartOffset().orElse(-1L)).append('\n');
            producer.commitTransaction();
        }
        Properties c = clientProperties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(Collections.singleton(tp));
            consumer.seekToBeginning(Collections.singleton(tp));
            long deadline = System.currentTimeMillis() + 60000;
            boolean last = false;
            while (!last && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    out.append("REC ").append(r.offset()).append(' ').append(r.value()).append('\n');
                    last |= r.value().equals("last");
                }
        }
        System.out.print(out);
    }
}
