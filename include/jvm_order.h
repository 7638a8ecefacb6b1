/*
 * jvm_order.h - the iteration order of the JVM collections Kafka loops
 * over where the order shows: Scala 2.13's mutable.HashMap and HashSet
 * (the topics a CreateTopics or DeleteTopics charges to its client's
 * controller_mutation_rate, in KafkaApis' toCreate and toDelete).  Pure;
 * any thread.
 */
#ifndef SAMSA_JVM_ORDER_H
#define SAMSA_JVM_ORDER_H

/* order[0..n) gets the indices of names in the order a Scala 2.13
 * mutable.HashMap (or HashSet) filled with them in index order iterates
 * them: by bucket, at the table size n entries grow it to (16, doubled
 * when an insertion reaches three quarters), then by improved hash
 * (h ^ h >>> 16, signed), then by insertion.  Names are distinct. */
void scala_hash_order(const char *const *names, int n, int *order);

#endif
