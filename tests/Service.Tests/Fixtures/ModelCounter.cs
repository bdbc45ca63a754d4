using System.Diagnostics.Metrics;
using Service.Models.Serving;

namespace Service.Tests.Fixtures;

/// <summary>The running total of one <see cref="ModelMetrics"/> counter for one model, from the moment it is created.</summary>
public sealed class ModelCounter : IDisposable
{
    readonly MeterListener listener = new();
    long total;

    public ModelCounter(string instrumentName, string model)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ModelMetrics.MeterName && instrument.Name == instrumentName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model" && Equals(tag.Value, model))
                    Interlocked.Add(ref total, value);
            }
        });
        listener.Start();
    }

    public long Total => Interlocked.Read(ref total);

    public void Dispose() => listener.Dispose();
}
