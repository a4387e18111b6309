using Microsoft.Extensions.Options;

namespace Virtualization.Core.Hosting;

/// <summary>
/// Validates <see cref="VirtualizationServiceOptions"/> for the Options pattern with the same rules (and messages) as the
/// <see cref="VirtualizationService"/> constructor: <see cref="VirtualizationServiceOptions.Validate"/>.
/// </summary>
internal sealed class VirtualizationOptionsValidator : IValidateOptions<VirtualizationServiceOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, VirtualizationServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"Virtualization: {p}"));
    }
}
