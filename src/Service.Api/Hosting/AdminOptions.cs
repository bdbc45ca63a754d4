using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Who may call the admin routes, /v1/indexes ("Admin" section); validated at start.</summary>
public sealed class AdminOptions : IValidatableObject
{
    public const string Section = "Admin";

    /// <summary>The request header that carries the key.</summary>
    public const string KeyHeader = "X-API-Key";

    /// <summary>Shorter keys are refused at start: the key is the only thing guarding the admin routes.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Keys accepted in <see cref="KeyHeader"/>; with none, the admin routes answer 403.</summary>
    public List<string> ApiKeys { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < ApiKeys.Count; i++)
        {
            if (ApiKeys[i].Trim().Length < MinKeyLength)
                yield return new ValidationResult($"{Section}:{nameof(ApiKeys)}:{i} must have at least {MinKeyLength} non-blank characters.", [nameof(ApiKeys)]);
        }
    }
}
