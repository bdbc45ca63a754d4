namespace Service.Index;

/// <summary>How R is stored on disk; the numeric value is the file's dtype code. In memory R is always float32.</summary>
public enum ScoreType
{
    Float32 = 1,

    /// <summary>IEEE 754 binary16 (<see cref="Half"/>): half the file, relative rounding ≤ 2⁻¹¹, |s| ≤ 65504.</summary>
    Float16 = 2,
}

public static class ScoreTypes
{
    public static int Size(this ScoreType type) => type switch
    {
        ScoreType.Float32 => sizeof(float),
        ScoreType.Float16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown score type."),
    };

    /// <summary>Machine epsilon, the gap from 1 to the next value: 2⁻²³ for float32, 2⁻¹⁰ for float16.</summary>
    public static double Epsilon(this ScoreType type) => type switch
    {
        ScoreType.Float32 => Math.ScaleB(1, -23),
        ScoreType.Float16 => Math.ScaleB(1, -10),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown score type."),
    };
}
