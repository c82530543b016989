import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../../../src/router/keyed-queue.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("KeyedQueue", () => {
  it("runs one key's tasks in arrival order, even when earlier ones are slower", async () => {
    const q = new KeyedQueue();
    const order: number[] = [];
    await Promise.all(
      [30, 1, 10, 0].map((ms, i) =>
        q.run("a", async () => {
          await tick(ms);
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("runs different keys in parallel", async () => {
    const q = new KeyedQueue();
    const order: string[] = [];
    await Promise.all([
      q.run("slow", async () => {
        await tick(40);
        order.push("slow");
      }),
      q.run("fast", async () => {
        await tick(1);
        order.push("fast");
      }),
    ]);
    expect(order).toEqual(["fast", "slow"]);
  });

  it("keeps going after a failed task, returns each task's own result, and forgets idle keys", async () => {
    const q = new KeyedQueue();
    const failed = q.run("k", async () => {
      throw new Error("boom");
    });
    const next = q.run("k", async () => 42);
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe(42);
    await q.idle();
    expect(q.size).toBe(0);
  });
});
