namespace ScriptFtp.Tests.Security;

/// <summary>The bound on password hashes running at once (each Argon2id check holds 19 MiB).</summary>
public sealed class HashSlotsTests
{
    [Test]
    public async Task A_hash_waits_while_the_slots_are_taken_and_every_one_runs()
    {
        // One slot: the pool has at least two threads, so without the bound a second hash would start at once.
        var slots = new HashSlots(1);
        using var go = new ManualResetEventSlim();
        var running = 0;
        var most = 0;
        var work = Enumerable.Range(0, 6).Select(i => slots.RunAsync(() =>
        {
            InterlockedMax(ref most, Interlocked.Increment(ref running));
            go.Wait(TimeSpan.FromSeconds(20));
            Interlocked.Decrement(ref running);
            return i;
        })).ToList();

        await WaitUntil(() => Volatile.Read(ref running) == 1);
        await Task.Delay(300);
        Volatile.Read(ref running).ShouldBe(1, "the others wait for the slot");
        work.Count(t => t.IsCompleted).ShouldBe(0);
        go.Set();

        (await Task.WhenAll(work).WaitAsync(TimeSpan.FromSeconds(20))).ShouldBe(Enumerable.Range(0, 6));
        most.ShouldBe(1);
    }

    [Test]
    public async Task No_more_than_the_slot_count_run_at_once()
    {
        var slots = new HashSlots(2);
        var running = 0;
        var most = 0;
        var work = Enumerable.Range(0, 40).Select(_ => slots.RunAsync(() =>
        {
            InterlockedMax(ref most, Interlocked.Increment(ref running));
            Thread.Sleep(5);
            return Interlocked.Decrement(ref running);
        }));

        (await Task.WhenAll(work)).Length.ShouldBe(40);
        most.ShouldBeInRange(1, 2);
    }

    [Test]
    public async Task A_waiter_can_be_cancelled_and_a_failing_hash_frees_its_slot()
    {
        var slots = new HashSlots(1);
        using var release = new ManualResetEventSlim();
        var holder = slots.RunAsync(() => release.Wait(TimeSpan.FromSeconds(10)));
        using var cancel = new CancellationTokenSource();
        var waiter = slots.RunAsync(() => true, cancel.Token);
        await Task.Delay(50);
        waiter.IsCompleted.ShouldBeFalse("the one slot is taken");
        await cancel.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(waiter);
        release.Set();
        (await holder).ShouldBeTrue();

        await Should.ThrowAsync<InvalidOperationException>(slots.RunAsync<int>(() => throw new InvalidOperationException("bad")));
        (await slots.RunAsync(() => 7).WaitAsync(TimeSpan.FromSeconds(5))).ShouldBe(7, "the failed hash gave its slot back");
    }

    [Test]
    public void The_server_gets_one_slot_per_core() => HashSlots.PerCore().Count.ShouldBe(Environment.ProcessorCount);

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        condition().ShouldBeTrue();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }
    }
}
