import { measureBusLimit } from '../bench/bus-limit.ts';
for (const batch of [100, 1000, 5000]) console.log(batch, await measureBusLimit({ messages: 60000, batch }));
