/**
 * Stored Responses API responses in the database (the StoredResponse table), for
 * previous_response_id, retrieval and input_items. Every read and delete is scoped to the key
 * that created the row: another key's id is "not found", never "forbidden".
 */

import type { PrismaClient } from '../generated/prisma/client.js';
import type { Item } from '../protocols/responses/items.js';
import type { ResponseObject } from '../protocols/responses/response.js';
import type { ResponseStore, StoredResponse } from '../protocols/responses/store.js';

export class DbResponseStore implements ResponseStore {
  constructor(private readonly prisma: PrismaClient) {}

  async save(r: StoredResponse): Promise<void> {
    await this.prisma.storedResponse.create({
      data: {
        id: r.id,
        keyId: r.keyId,
        previousResponseId: r.previousResponseId,
        response: r.response as never,
        inputItems: r.inputItems as never,
        createdAt: r.createdAt,
      },
    });
  }

  async get(id: string, keyId: string): Promise<StoredResponse | null> {
    const row = await this.prisma.storedResponse.findFirst({ where: { id, keyId } });
    if (!row) return null;
    return {
      id: row.id,
      keyId: row.keyId,
      previousResponseId: row.previousResponseId,
      response: row.response as unknown as ResponseObject,
      inputItems: row.inputItems as unknown as Item[],
      createdAt: row.createdAt,
    };
  }

  async delete(id: string, keyId: string): Promise<boolean> {
    const { count } = await this.prisma.storedResponse.deleteMany({ where: { id, keyId } });
    return count > 0;
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.storedResponse.deleteMany({ where: { createdAt: { lt: cutoff } } });
    return count;
  }
}
