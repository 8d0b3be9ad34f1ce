"""generate(request) -> response: a pure function the tests call directly."""

from google.protobuf.compiler import plugin_pb2

from wiregen.build import build_file, message_descriptors, message_index
from wiregen.diagnostics import SpecError
from wiregen.framing import load_spec
from wiregen.parameters import parse_parameters
from wiregen.render import render_file
from wiregen.validate import validate, validate_services


def generate(
    request: plugin_pb2.CodeGeneratorRequest, read_file=None
) -> plugin_pb2.CodeGeneratorResponse:
    """Render <name>.wiregen.h/.cc for each file protoc asks for.

    Mistakes in the user's input come back in response.error (protoc prints
    it and fails); bugs in the plugin raise.
    """
    read_file = read_file or _read_text
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    try:
        parameters = parse_parameters(request.parameter)
        try:
            text = read_file(parameters.framing)
        except OSError as error:
            response.error = f"{parameters.framing}: cannot read the framing spec: " \
                f"{error.strerror or error} " \
                "(fix: check the FRAMING path given to wiregen_generate())"
            return response
        except UnicodeDecodeError as error:
            response.error = f"{parameters.framing}: cannot read the framing spec: " \
                f"byte {error.start} is not UTF-8 (fix: save the spec as UTF-8 text)"
            return response
        loaded = load_spec(parameters.framing, text)
        messages = message_index(request.proto_file)
        descriptors = message_descriptors(request.proto_file)
        validate(loaded, {name: where[1] for name, where in messages.items()}, descriptors)
        by_name = {proto.name: proto for proto in request.proto_file}
        names = set()
        for proto_name in request.file_to_generate:
            validate_services(loaded, by_name[proto_name], descriptors)
            model = build_file(by_name[proto_name], loaded, parameters.framing_name, messages,
                               descriptors)
            for output_name, content in render_file(model):
                if output_name in names:
                    response.error = f"{proto_name}: a second input generates {output_name} " \
                        "(fix: give the .proto files different names)"
                    return response
                names.add(output_name)
                response.file.add(name=output_name, content=content)
    except SpecError as error:
        response.error = str(error)
    return response


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as spec_file:
        return spec_file.read()
