/** The grpc-js baseline's service: one unary `Ping` with JSON (de)serialisers, no codegen. */
import * as grpc from '@grpc/grpc-js';

const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };

export const BenchService: grpc.ServiceDefinition = {
  Ping: {
    path: '/bench.Bench/Ping', requestStream: false, responseStream: false,
    requestSerialize: json.serialize, requestDeserialize: json.deserialize,
    responseSerialize: json.serialize, responseDeserialize: json.deserialize,
  },
};
export const BenchClient = grpc.makeGenericClientConstructor(BenchService, 'Bench');
