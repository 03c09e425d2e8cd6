import { measureBusLimit } from '../bench/bus-limit.ts';
console.log(await measureBusLimit({ messages: Number(process.argv[2] ?? 50000) }));
