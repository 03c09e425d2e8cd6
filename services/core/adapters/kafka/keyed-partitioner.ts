import { Partitioners, type ICustomPartitioner } from 'kafkajs';
import { partitionFor } from '../../partitioner.ts';

/**
 * kafkajs' default (Java-compatible) partitioner with our own murmur2 for keyed records: the same
 * partition for every key (tested against kafkajs on random keys), at about a tenth of the CPU
 * (~0.4 µs a record instead of ~4.5 µs, every record the platform produces). Records with an
 * explicit partition or no key go to kafkajs' own partitioner.
 */
export const keyedPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (typeof message.partition === 'number' || message.key === null || message.key === undefined) return fallback(args);
    return partitionFor(message.key, partitionMetadata.length);
  };
};
