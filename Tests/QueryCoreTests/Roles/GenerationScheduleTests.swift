import Testing

@testable import QueryCore

@Suite struct GenerationScheduleTests {
    @Test func numbersAndSlotsDeriveFromTime() {
        let schedule = GenerationSchedule(interval: .seconds(120))
        #expect(
            schedule.proxyOffset == .seconds(30) && schedule.aggregatorOffset == .seconds(60)
                && schedule.queryOffset == .seconds(90)
        )
        #expect(schedule.number(at: .zero) == 1)
        #expect(schedule.number(at: .seconds(119.999)) == 1)
        #expect(schedule.number(at: .seconds(120)) == 2)
        #expect(schedule.number(at: .seconds(-1)) == 0)
        #expect(schedule.generation(3).time == .seconds(240))
        #expect(schedule.slot(.aggregator, of: 3) == .seconds(300))
        #expect(schedule.latestSlot(.proxy, at: .seconds(149)) == 1)
        #expect(schedule.latestSlot(.proxy, at: .seconds(150)) == 2)
        #expect(schedule.nextSlot(.edge, after: .seconds(120)) == 3)
        // Two nodes agree on the generation without talking.
        let other = GenerationSchedule(interval: .seconds(120))
        for t in stride(from: 0.0, to: 1000, by: 37.3) {
            #expect(schedule.current(at: .seconds(t)) == other.current(at: .seconds(t)))
        }
    }

    @Test func badOffsetsAreClamped() {
        let schedule = GenerationSchedule(
            interval: .seconds(10),
            proxyOffset: .seconds(-3),
            aggregatorOffset: .seconds(50)
        )
        #expect(schedule.proxyOffset == .zero)
        #expect(schedule.aggregatorOffset < .seconds(10))
        #expect(GenerationSchedule(interval: .zero).interval > .zero)
    }
}
